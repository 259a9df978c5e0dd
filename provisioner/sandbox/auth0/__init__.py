"""The Auth0 Management API emulator (the Actions part), served over HTTPS on loopback.
Sandbox: the Auth0 emulator package.

Auth0 has no local edition, so hookctl's tests and its local sandbox talk to this
server instead. What it emulates:

* ``POST /oauth/token`` (client-credentials grant, form or JSON body) and a
  bearer token on every ``/api/v2`` call.
* ``/api/v2/actions/...``: triggers, actions (CRUD, paginated list with the
  SDK's filters), drafts that build asynchronously (pending -> building ->
  built | failed), deploy creating numbered immutable versions, version list /
  get / roll-back, trigger bindings replaced whole by ``PATCH``, write-only
  secrets, the documented entity limits, ``x-ratelimit-*`` headers and 429s.
* Test hooks: per-request latency, deterministic fault injection (status
  codes, dropped connections, delays), request counters, and direct access to
  the tenant data for set-up ("someone edited this action in the dashboard").
* Persistence: the tenant (and the client credentials and issued tokens) is
  saved as JSON so a stopped sandbox comes back as it was.

Response shapes follow the SDK's types (``auth0/management/types``) and, where
the SDK is silent, real responses recorded by the Terraform provider's test
suite (``auth0/terraform-provider-auth0``, ``test/data/recordings/*.yaml``);
the comment beside each behaviour names its source. Behaviour that no source
settles is marked ``INFERRED``.

Modules, from data to the wire: ``model`` (records, trigger catalogue, error
shape), ``config`` (``EmulatorConfig``, ``FaultRule``), ``syntax`` (the optional
parse check of builds), ``store`` (``Tenant``: state, rules, persistence),
``render`` (records as the API answers them), ``routes`` (endpoint handlers and
the route table), ``server`` (``Auth0Emulator``: HTTPS, latency, faults, rate
limit, bearer tokens) and ``cli`` (run it by hand:
``python -m provisioner.sandbox.auth0 --help``). Names with a leading underscore
are internal to the package.
"""

"""Amazon Cognito Lambda triggers: client.py (boto3), plan.py and operations.py (pure), provider.py (wiring).
Provider cognito: the package (client, pure planning, provider).
"""

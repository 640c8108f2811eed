"""The API the bridge agent talks to: registration, STS sessions, heartbeats, execution reports."""

"""Administration: users, audit log, queues, global settings."""

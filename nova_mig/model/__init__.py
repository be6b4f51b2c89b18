"""Plain typed data shared by every nova-mig package."""

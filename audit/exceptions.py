class AuditImmutable(Exception):
    """Audit entries are written once and never changed or deleted."""

"""Access as code: ``access.yaml`` (spec), the changes that make a server match it (plan, pure),
and the guard that keeps one environment's profile off another's data (data_roots).
The MLflow side (reading a basic-auth server's state, applying changes) is in
``mlrecipes.tracking.access_server``."""

"""Public blueprint: pages read only the public projection."""

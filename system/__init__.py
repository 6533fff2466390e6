"""RSOLV billing and provisioning: the product's Starlette application and its services."""

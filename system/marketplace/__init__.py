"""GitHub Marketplace: the signed `marketplace_purchase` webhook, plan mapping and the
Action's listing rules. Purchases provision accounts through the provisioning service."""

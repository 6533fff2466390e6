Feature: Fault drills in the staging simulation
  `rsolv-billing simulate --chaos` kills the system with SIGKILL and restarts it every week,
  makes Stripe slow or failing for stretches, drops the database's connections (on
  PostgreSQL) and double-clicks fixes and subscriptions; afterwards it settles what the
  kills left pending and reconciles every customer as always. It runs on the suite's
  database: SQLite, and PostgreSQL in CI. Churn and conversion are the behaviour model's on
  12 customers (one leaving is 8%), so this drill holds the system's checks, not those.

  Scenario: A chaotic month still reconciles every customer
    When 12 beta customers live 1 month with seed 5 under fault drills on the suite's database
    Then the system's checks hold: provisioning, payment success, reconciliation, settlement
    And the report lists the faults injected, with the system killed at least twice
    And no customer disagrees with Stripe or with the replayed bills

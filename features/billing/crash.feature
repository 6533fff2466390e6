Feature: A crash never loses or doubles a charge
  The system runs as a real process on the suite's database, Stripe is the emulator, and
  the process is killed with SIGKILL while charged fixes are in flight, at random moments
  before, during and after Stripe takes the money. `rsolv-billing reconcile` then settles
  whatever was left pending by asking Stripe (issue 15: before, Stripe took 9 charges and
  the system recorded 6, and nothing ever recorded the rest).

  Scenario: SIGKILL during charged fixes, then reconcile
    Given the system runs as a process, with a customer who has a card and no credits left
    And Stripe takes between 0.1 and 0.5 seconds to charge a card
    When the system is killed with SIGKILL during each of 20 charged fixes
    And "rsolv-billing reconcile" runs with nothing serving
    Then reconcile exits 0 and left nothing pending
    And every charge Stripe took is recorded once, with its fix
    When the system runs again and every fix is retried
    Then every fix is charged exactly once at Stripe and recorded once

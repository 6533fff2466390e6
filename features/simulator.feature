Feature: Staging simulator
  One command plays a population of simulated customers through months of billing against
  the real system and the Stripe emulator, reconciles every customer's books, and says
  whether the launch targets hold.

  Scenario: A seeded beta run passes its checks
    When the beta profile is simulated for 3 months with seed 1
    Then the command succeeds
    And the report shows 100% payment success for valid cards
    And every customer reconciles
    And the report holds the JSON, the HTML and its plots

  Scenario: The emulator declines every card
    When the beta profile is simulated for 2 months with seed 11 while the emulator declines every card
    Then the command fails
    And the report shows 0% payment success for valid cards

  Scenario: Duplicated and reordered webhooks still reconcile
    When the beta profile is simulated for 3 months with seed 1 with 30% duplicated and 30% reordered webhooks
    Then the command succeeds
    And webhooks were delivered twice
    And every customer reconciles

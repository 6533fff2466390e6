Feature: Money under faults
  One intent, one effect: however often a customer clicks, however slow Stripe is, each
  intent makes one Stripe object, and Stripe is only ever told an idempotency key derived
  from the intent (hashed), never the customer's own text. Each scenario failed on the code
  before its fix (issue 15).

  Background:
    Given a customer with the card "pm_card_visa" and no credits left

  Scenario: Two subscribe clicks while Stripe is slow make one subscription
    Given Stripe takes 1.5 seconds to create a subscription
    When the customer clicks "subscribe to Pro" twice, one second apart
    Then no answer was a server error
    And Stripe holds exactly 1 live subscription for the customer
    And Stripe holds exactly 1 paid invoice for the customer
    And eventually the customer's credit balance is 60

  Scenario: Many subscribe clicks while Stripe is slow make one subscription
    Given Stripe takes 1.0 seconds to create a subscription
    When the customer clicks "subscribe to Pro" 5 times, a second apart
    Then no answer was a server error
    And Stripe holds exactly 1 live subscription for the customer
    And eventually the customer's credit balance is 60

  Scenario: Cancelling ends every live subscription the customer has at Stripe
    Given the customer is subscribed to Pro
    And a second Pro subscription exists at Stripe for the customer
    When the customer cancels the subscription now
    Then Stripe holds exactly 0 live subscriptions for the customer

  Scenario Outline: A fix id of any text is charged once, under a hashed key
    When the customer deploys the fix "<fix_id>"
    Then the fix was charged 2900 cents
    And Stripe holds exactly 1 succeeded payment for the customer
    And no idempotency key Stripe saw contains the fix id
    And deploying the fix "<fix_id>" again charges nothing more

    Examples:
      | fix_id            |
      | fix-☃-snowman     |
      | fix-ünïcödé-2     |
      | fix plain 3       |

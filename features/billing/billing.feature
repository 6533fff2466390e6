Feature: Billing
  Customers are billed per deployed fix, in credits: trial credits, a bonus for the first
  card, pay as you go at 2,900 cents a fix, or Pro at 59,900 cents a month with 60 credits.
  Stripe is the emulator; time moves on its test clock. Every scenario ends reconciled.

  Background:
    Given a customer "dev@example.com" has signed up

  Scenario: Trial credits are used, then fixes are refused without a card
    When the customer deploys 5 fixes
    Then the credit balance is 0
    And deploying a fix is refused with 402 saying "add a card"

  Scenario: The first card grants 5 more credits, once
    When the customer adds the card "pm_card_visa"
    And the customer adds the card "pm_card_mastercard"
    Then the credit balance is 10
    And the plan is "payg"
    And the customer has 2 payment methods, the default ending in "4444"

  Scenario: Pay as you go charges a fix when no credit is left
    Given the customer has a card "pm_card_visa" and no credits left
    When the customer deploys a fix "fix-payg-1"
    Then the fix was charged 2900 cents
    And the emulator holds a succeeded payment of 2900 cents for the customer
    And the credit balance is 0
    And repeating the fix "fix-payg-1" returns the same result without a second charge

  Scenario: A declined card is never charged and no credit is granted
    Given the customer has a card "pm_card_chargeCustomerFail" and no credits left
    When the customer deploys a fix "fix-declined"
    Then the answer is 402 with decline code "card_declined"
    And the credit balance is 0
    And no fix "fix-declined" was recorded

  Scenario: Subscribing to Pro grants 60 credits once, from the answer and the webhook
    Given the customer has a card "pm_card_visa" and no credits left
    When the customer subscribes to "pro"
    Then the subscription is "active"
    And the credit balance is 60
    And eventually the invoice of 59900 cents is "paid" locally
    And the ledger holds exactly 1 period grant

  Scenario: Pro renews: unused credits expire and 60 new ones are granted
    Given the customer is subscribed to "pro" with no other credits
    When the customer deploys 10 fixes
    And a month passes
    Then eventually the credit balance is 60
    And the customer has 2 paid invoices of 59900 cents

  Scenario: Pro overage is charged per fix
    Given the customer is subscribed to "pro" with no other credits
    When the customer deploys 60 fixes
    And the customer deploys a fix "fix-overage"
    Then the fix was charged 1500 cents

  Scenario: Cancelling at period end keeps the plan until the period ends
    Given the customer is subscribed to "pro" with no other credits
    When the customer cancels the subscription at period end
    Then the subscription is "active" and set to cancel at period end
    And the credit balance is 60
    When a month passes
    Then eventually the subscription is "canceled"
    And eventually the credit balance is 0
    And the plan is "payg"

  Scenario: Cancelling now keeps the credits until the period would have ended
    Given the customer is subscribed to "pro" with no other credits
    When the customer cancels the subscription now
    Then the subscription is "canceled"
    And the credit balance is 60
    When a month passes
    Then eventually the credit balance is 0

  Scenario: A failed renewal is recovered within the grace period
    Given the customer is subscribed to "pro" with no other credits
    And the customer's default card fails when charged
    When a month passes
    Then eventually the customer is past due
    And deploying a fix still succeeds
    When the customer adds the card "pm_card_visa"
    Then eventually the customer is in good standing
    And eventually the customer has 2 paid invoices of 59900 cents

  Scenario: A failed renewal suspends service after the grace period until paid
    Given the customer is subscribed to "pro" with no other credits
    And the customer's default card fails when charged
    When a month passes
    Then eventually the customer is past due
    When 8 days pass without a successful payment
    Then deploying a fix is refused with 402 saying "suspended"
    When the customer adds the card "pm_card_visa"
    Then eventually the customer is in good standing
    And deploying a fix still succeeds

  Scenario: Upgrading from pay as you go to Pro mid-period
    Given the customer has a card "pm_card_visa" and no credits left
    And 12 days pass
    When the customer subscribes to "pro"
    Then the subscription period starts now and ends in a month
    And the credit balance is 60

  Scenario: A refunded fix purchase takes its credit back, or records a debt
    Given the customer has a card "pm_card_visa" and no credits left
    When the customer deploys a fix "fix-refund"
    And the payment for "fix-refund" is refunded at Stripe
    Then eventually the customer owes 1 credit

  Scenario: Fifty concurrent fixes never overdraw ten credits
    Given the customer has 10 credits and no card left
    When 50 fixes are deployed at once
    Then exactly 10 fixes succeed and 40 are refused with 402
    And the credit balance is 0

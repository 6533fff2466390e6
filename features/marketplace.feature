Feature: GitHub Marketplace
  Organisations buy RSOLV on the GitHub Marketplace. GitHub tells us with signed
  marketplace_purchase webhooks; a purchase provisions the account with the same onboarding
  as a signup, and the Marketplace plan maps to ours: "Free" and free trials to our trial,
  "Pro" (a paid plan) to Pro with its 60 credits.

  Background:
    Given the GitHub webhook secret is configured

  Scenario: Buying the paid plan provisions a Pro account
    When GitHub sends a "purchased" event for the organisation "octo-org" on the "Pro" plan
    Then the webhook is answered 200 and applied
    And a customer exists for "billing@octo-org.example" with GitHub org "octo-org"
    And the customer is on our "pro" plan with 65 credits
    And the customer has an API key and a queued Stripe customer

  Scenario: A free trial on the Marketplace is our trial
    When GitHub sends a "purchased" event for the organisation "trial-org" on the "Pro" plan with a free trial
    Then the webhook is answered 200 and applied
    And the customer is on our "trial" plan with 5 credits
    And the Marketplace account shows a free trial until "2026-02-15"

  Scenario: Buying the free plan gives our trial
    When GitHub sends a "purchased" event for the organisation "free-org" on the "Free" plan
    Then the customer is on our "trial" plan with 5 credits

  Scenario: Upgrading from the free plan to the paid plan
    Given the organisation "grow-org" bought the "Free" plan
    When GitHub sends a "changed" event for the organisation "grow-org" on the "Pro" plan
    Then the customer is on our "pro" plan with 65 credits
    And there is exactly 1 customer for the organisation "grow-org"

  Scenario: Downgrading from the paid plan to the free plan
    Given the organisation "shrink-org" bought the "Pro" plan
    When GitHub sends a "changed" event for the organisation "shrink-org" on the "Free" plan
    Then the customer is on our "trial" plan with 65 credits

  Scenario: Cancelling on the Marketplace
    Given the organisation "leave-org" bought the "Pro" plan
    When GitHub sends a "cancelled" event for the organisation "leave-org" on the "Pro" plan
    Then the customer is on our "trial" plan with 65 credits
    And the Marketplace account is marked cancelled

  Scenario: A pending change waits for the end of the billing cycle, and can be withdrawn
    Given the organisation "wait-org" bought the "Pro" plan
    When GitHub sends a "pending_change" event for the organisation "wait-org" on the "Free" plan
    Then the customer is on our "pro" plan with 65 credits
    And the Marketplace account has a pending change to "Free"
    When GitHub sends a "pending_change_cancelled" event for the organisation "wait-org" on the "Pro" plan
    Then the Marketplace account has no pending change
    And the customer is on our "pro" plan with 65 credits

  Scenario: A redelivered event is applied once
    When GitHub sends a "purchased" event for the organisation "twice-org" on the "Pro" plan
    And GitHub delivers the same event again
    Then the second answer says it was a duplicate
    And the customer is on our "pro" plan with 65 credits
    And there is exactly 1 customer for the organisation "twice-org"

  Scenario: A purchase by someone who already signed up joins their account
    Given "billing@known-org.example" has signed up on the website
    When GitHub sends a "purchased" event for the organisation "known-org" on the "Pro" plan
    Then the customer is on our "pro" plan with 65 credits
    And there is exactly 1 customer for the organisation "known-org"

  Scenario Outline: Forged or missing signatures are refused
    When GitHub sends a "purchased" event for the organisation "evil-org" on the "Pro" plan <signed>
    Then the webhook is answered 401
    And no customer exists for the organisation "evil-org"

    Examples:
      | signed                          |
      | signed with the wrong secret    |
      | with no signature               |
      | with the body changed in transit |

  Scenario: Other GitHub events are acknowledged and ignored
    When GitHub sends a signed "ping" event
    Then the webhook is answered 200 and not applied

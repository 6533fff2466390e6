Feature: Provisioning
  A developer signs up and, in one request, gets a customer record, a Stripe customer,
  an API key shown once, and trial credits.

  Scenario: A new customer signs up
    When "ada@example.com" signs up as "Ada Lovelace" of "Analytical Engines" with GitHub org "analytical"
    Then the answer is 201
    And the answer holds an API key starting with "rsolv_test_"
    And the customer has 5 trial credits
    And the API key opens /api/v1/me for "ada@example.com"
    And the customer has exactly one Stripe customer at the emulator

  Scenario: Signing up again with the same address
    Given "grace@example.com" has signed up
    When "GRACE@Example.COM" signs up as "Grace Hopper"
    Then the answer is 409 with problem type "/problems/duplicate-customer"
    And there is exactly 1 customer for "grace@example.com"

  Scenario: A disposable address is refused
    When "someone@mailinator.com" signs up as "Throwaway"
    Then the answer is 422 with problem type "/problems/disposable-email"
    And no customer was created

  Scenario Outline: Invalid signups are refused with a clear problem
    When the signup body is <body>
    Then the answer is <status> with problem type "<type>"
    And no customer was created

    Examples:
      | body                                                          | status | type                      |
      | {"email": "not-an-address", "name": "X"}                      | 422    | /problems/invalid-email   |
      | {"name": "No Email"}                                          | 422    | /problems/validation-error |
      | {"email": "a@example.com", "name": ""}                        | 422    | /problems/validation-error |
      | {"email": "a@example.com", "name": 42}                        | 422    | /problems/validation-error |
      | {"email": "a@example.com", "name": "A", "plan": "free"}       | 422    | /problems/validation-error |
      | {"email": "a@example.com", "name": "A", "github_org": "-bad"} | 422    | /problems/validation-error |
      | ["a@example.com"]                                             | 422    | /problems/validation-error |
      | {"email": "a@example.com",                                    | 400    | /problems/malformed-json  |

  Scenario: A retried signup with the same Idempotency-Key
    When "lin@example.com" signs up as "Lin" with Idempotency-Key "signup-lin-1"
    And "lin@example.com" signs up as "Lin" with Idempotency-Key "signup-lin-1"
    Then both answers are 201 with the same customer and API key
    And the second answer is marked as replayed
    And there is exactly 1 customer for "lin@example.com"

  Scenario: An Idempotency-Key reused for another signup
    When "lin@example.com" signs up as "Lin" with Idempotency-Key "signup-lin-2"
    And "other@example.com" signs up as "Other" with Idempotency-Key "signup-lin-2"
    Then the answer is 422 with problem type "/problems/idempotency-key-reused"
    And no customer exists for "other@example.com"

  Scenario: Two signups for one address at the same moment
    When 8 signups for "race@example.com" arrive at once
    Then exactly 1 of them is answered 201 and the others 409
    And there is exactly 1 customer for "race@example.com"

  Scenario: Stripe is down at signup, then recovers
    Given the Stripe API answers every request with a server error
    When "omar@example.com" signs up as "Omar"
    Then the answer is 201
    And the API key opens /api/v1/me for "omar@example.com"
    And the customer has no Stripe customer yet
    When the Stripe API recovers
    And the pending Stripe customers are synced
    Then the customer has exactly one Stripe customer at the emulator

  Scenario: A revoked key stops working
    Given "kim@example.com" has signed up
    When the customer creates a second API key labelled "ci"
    And the customer revokes its first API key
    Then the first API key gets 401 at /api/v1/me
    And the second API key opens /api/v1/me for "kim@example.com"
    And the customer's key list shows the first key revoked

  Scenario: Signups from one address are rate limited
    Given signups are limited to 3 per minute per address
    When 4 different people sign up from the same address
    Then the first 3 answers are 201
    And the last answer is 429 with a Retry-After header

  Scenario: Missing and unknown keys are refused
    Then a request to /api/v1/me without a key gets 401
    And a request to /api/v1/me with key "rsolv_test_AAAAAAAAAAAA_nope" gets 401
    And a request to /api/v1/me with key "garbage" gets 401

  Scenario: The HTML signup form provisions the same way
    When a person fills the signup form with "noor@example.com" and "Noor"
    Then the page shows an API key starting with "rsolv_test_"
    And the API key opens /api/v1/me for "noor@example.com"

"""The billing engine: what Stripe Billing does by itself as (real or
test-clock) time passes, beneath the API resources that expose it.

- `periods`: a subscription's items, plans and current period; intervals.
- `settings`: the account's billing settings (retry schedule, notices).
- `proration`: credits and charges for a change in the middle of a period.
- `invoicing`: invoice lines, pending invoice items, building and finalizing invoices.
- `collection`: payment attempts, dunning retries, marking paid, subscription
  status changes (past_due, unpaid, canceled).
- `lifecycle`: creating a subscription, renewals and trial ends, the upcoming
  notice, expiry of an incomplete subscription.
- `clock`: whose clock an object lives on, and the due work run in time order
  (`run_due`, the scheduler's `sweep`).

Dependencies point down that list, in reverse: clock -> lifecycle ->
invoicing -> collection -> periods / settings.

Per-subscription facts Stripe keeps but does not show live in
`store.private[sub_id]` (`periods.facts_of`): the billing cycle `anchor` and
`cycle` number (period k = [anchor + k intervals, anchor + k+1 intervals)),
the item ids, which notices were sent, the invoice being retried and when."""

"""The clinical core: instruments and their scoring (instruments), change over repeated
measures (progress), end-of-session feedback (feedback), a plan's course so far (course),
what is due and what is left (timeline), and the facts the review rules reason over
(review_facts). Domain only: no store, no interface, no rule engine."""

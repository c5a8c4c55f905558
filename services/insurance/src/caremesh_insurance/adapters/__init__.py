"""Insurance's outbound I/O other than the store and the bus: the payers' eligibility adapters
(``eligibility``: the plan rules, or a 270/271 with the payer), the prior-authorization submission
adapters (``submission``: manual, or an X12 278) and the X12 transport they share."""

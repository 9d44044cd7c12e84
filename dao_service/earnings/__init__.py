"""Rental income by measured value: `valuation` (each contribution's value to a renter's
sample, and the split), `demand` (what renters valued lately, for the intake score) and
`service` (the renter's sample and the settlement of executed rentals)."""

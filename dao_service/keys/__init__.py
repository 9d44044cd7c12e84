"""Key release, one module per step: a renter's signed request is checked against the
grant the chain states (`grants`, watched once per block and shared by every process),
then the live file keys are unsealed from custody and sealed to the renter's key
(`release`), and each release and refusal is written, once, to the release log
(`release_log`) before it is answered."""

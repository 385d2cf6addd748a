"""The service's routes, one router module an area: health, checkpoints, entries, proofs,
rounds, epsilon, verification and the HTML page."""

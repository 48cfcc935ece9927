"""The pipeline: plan, prepare, decode, finish, and the batch loop that runs them."""

"""nn: neural-network building blocks on top of autograd_core."""

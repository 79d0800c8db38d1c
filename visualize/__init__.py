"""visualize: pictures of computation graphs and of the backward pass (filled in by later work)."""

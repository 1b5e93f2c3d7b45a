"""The screens of planwise, one module per area."""

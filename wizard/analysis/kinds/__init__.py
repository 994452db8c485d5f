"""The revival kinds: one module per way a unit is brought back."""

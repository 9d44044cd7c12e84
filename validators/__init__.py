"""Export validators: one module per source behind one interface (see the validators issue)."""

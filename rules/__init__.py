"""fusionlab's built-in rule pack, installed as ``fusionlab.rules``: one module per rule, grouped by
family (``layer``, ``reduction``, ``pointwise``, ``qdq``, ``rtx``, ``lint``) with shared helpers
in ``common``. See docs/WRITING-RULES.md."""

"""xmp_rules: an example fusionlab rule pack (one rule, XMP001)."""

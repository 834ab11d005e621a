"""Values shown once (new secrets), kept briefly and encrypted until displayed."""

"""What each verb does, composed from the domain rules, the stores and DVC."""

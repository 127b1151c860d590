"""Video phone: dial a person, a duty line or an extension; ring, answer, busy, missed; the call log."""

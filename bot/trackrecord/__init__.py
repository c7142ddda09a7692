"""Alert track record: how every alerted trade went since its alert."""

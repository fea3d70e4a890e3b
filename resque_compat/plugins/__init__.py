"""Ruby Resque plugins, speaking their Redis protocol: one module per plugin."""

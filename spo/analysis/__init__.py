"""After-the-fact analyses of run directories (difficulty transfer, bins, sweeps)."""

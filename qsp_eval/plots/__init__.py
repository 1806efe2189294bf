"""Figures: each ``plot_x(result, *, ax=None, lang="fr") -> Axes`` draws a result table, nothing else."""

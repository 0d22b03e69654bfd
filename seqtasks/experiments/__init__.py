"""Experiments that train many models and report on them: `compare` (one task, many configs)
and `adding` (the adding problem over every recurrent cell)."""

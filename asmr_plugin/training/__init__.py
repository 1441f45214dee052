"""The training engine every fit uses: one step (eager, or one CUDA graph replayed), the loops around it
(full grid, epochs of random batches), checkpoints and ``--resume``, interrupts, the heap, and data-parallel runs."""

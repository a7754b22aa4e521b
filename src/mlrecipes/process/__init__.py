"""The process floor: the only code that changes process state (signals, the supervisor fork, memory, exit), each change scoped and undone."""

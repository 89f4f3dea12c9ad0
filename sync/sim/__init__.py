"""The fleet simulator (`cafe sim`): a seeded plan, a real central and real devices, and the checks."""

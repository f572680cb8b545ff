"""Class sets, label maps, undoable edits and the project on disk."""

"""Applications: screening, potentials and molecular dynamics, attributions, the primer web app."""

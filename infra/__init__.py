"""The bottom floor: domain-free helpers that any app may import. Imports only Django and libraries."""

"""Personalised recommendations that explain themselves: training, serving, feedback and pages."""

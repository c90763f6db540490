"""Scoring: the types every verifier speaks, answer extraction, time limits and the verifiers that
never execute model output (countdown's exact ``ast`` evaluator, math-verify in killable workers).

Depends on nothing else in entropy_rl: tasks, training and the plug-ins build on it.
"""

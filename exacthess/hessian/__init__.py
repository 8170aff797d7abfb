"""hessian"""

//! IAM policy language and ARNs (pure). Built in the AWS sandbox issue.

"""The course's exercises: `from course.exercises import TODO, check`."""

//! Following new/ and cur/.

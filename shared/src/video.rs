//! (being written: the Video result type)

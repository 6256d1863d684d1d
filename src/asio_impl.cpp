// Asio, Asio-SSL and Beast compiled once here (BOOST_*_SEPARATE_COMPILATION), not in every
// translation unit that includes them: it cuts each network TU's build time and memory.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
